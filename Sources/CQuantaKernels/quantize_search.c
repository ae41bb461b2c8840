// The scale searches of ggml-quants.c (see quantize_search.h), bit for bit.
//
// Order of operations matters everywhere: ggml's f32 expressions such as `w*x[i]*l` are
// (w*x[i])*(float)l, sums are serial and left to right from 0, divisions stay divisions
// (x/y is not x*(1/y)), and ties go the way ggml's strict `>` / `<` tests send them. The
// SIMD code below only ever puts *different candidates* in different lanes; within a lane
// it performs ggml's scalar sequence, so no sum is reassociated.
#pragma clang fp contract(off)

#include "quantize_search.h"

#include <math.h>

QUANTA_INLINE int clamp_int(int l, int lo, int hi) {
    l = hi < l ? hi : l;  // MIN(hi, l): ((hi) < (l) ? (hi) : (l))
    return lo > l ? lo : l;  // MAX(lo, l)
}

QUANTA_INLINE f32x4 to_f32x4(i32x4 v) { return __builtin_convertvector(v, f32x4); }

// The same levels as to_f32x4(clamp4(nearest_int4(v), lo, hi)) when every lane of v is finite and
// |v| < 2^22 (the callers check): nearest_int then rounds half to even, which commutes with a
// clamp to integer bounds, and (v + 1.5*2^23) - 1.5*2^23 is that rounding as a float: maxps and
// minps instead of the integer clamp SSE2 has no instruction for, and no int -> float conversion.
QUANTA_INLINE f32x4 rounded_level4(f32x4 v, float lo, float hi) {
    v = min4(max4(v, splat_f(lo)), splat_f(hi));
    return (v + splat_f(12582912.0f)) - splat_f(12582912.0f);
}

// Below this magnitude nearest_int is exact round-half-even (ggml's own assert bound).
#define NEAREST_INT_EXACT 4194303.f

QUANTA_INLINE bool is_nan_or_inf(float x) { return !(fabsf(x) <= 3.402823466e+38f); }

// MARK: - make_qx_quants (rmse_type 1)

// ggml evaluates the scale iscale0 = -nmax/max, then iscale = -(nmax + 0.1*is)/max for
// is = -9..9 (is != 0), keeping a candidate when sumlx^2/suml2 beats the best (strict >). Every
// candidate depends only on x, w and max, so all 19 are evaluated at once (five groups of four
// lanes; the twentieth is padding) and the keep-the-best scan replays ggml's order afterwards.
// Candidate 0's formula -(nmax + 0.1f*0)/max equals -nmax/max exactly (nmax + 0.0f == nmax).
QUANTA_INLINE float signed_scale(int n, int nmax, const float *restrict x, const float *restrict w,
                                int8_t *restrict L) {
    float max = 0, amax = 0;
    bool nonfinite = false;
    for (int i = 0; i < n; ++i) {
        const float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
        nonfinite |= is_nan_or_inf(x[i]);
    }
    if (amax < QUANTA_GROUP_MAX_EPS) {  // all zero (a NaN never becomes amax)
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    enum { candidates = 19, groups = 5 };
    float iscale[groups * 4];
    iscale[0] = (float)(-nmax) / max;
    for (int c = 1; c < candidates; ++c) {
        const int is = c <= 9 ? c - 10 : c - 9;  // -9..-1, then 1..9
        iscale[c] = -((float)nmax + 0.1f * (float)is) / max;
    }
    iscale[candidates] = iscale[0];
    // |iscale*x| <= |iscale*max| (rounding is monotone): below 2^22 the float-domain levels are exact.
    bool fast = !nonfinite;
    for (int c = 0; c < candidates; ++c) fast &= fabsf(iscale[c] * max) < NEAREST_INT_EXACT;

    f32x4 vscale[groups], sumlx[groups], suml2[groups];
    for (int g = 0; g < groups; ++g) {
        memcpy(&vscale[g], &iscale[4 * g], sizeof vscale[g]);
        sumlx[g] = splat_f(0.f);
        suml2[g] = splat_f(0.f);
    }
    if (fast) {
        for (int i = 0; i < n; ++i) {
            const f32x4 xi = splat_f(x[i]), wi = splat_f(w[i]), wx = splat_f(w[i] * x[i]);
            for (int g = 0; g < groups; ++g) {
                const f32x4 l = rounded_level4(vscale[g] * xi, (float)-nmax, (float)(nmax - 1));
                sumlx[g] += wx * l;            // sumlx += w*x[i]*l
                suml2[g] += (wi * l) * l;      // suml2 += w*l*l
            }
        }
    } else {
        for (int i = 0; i < n; ++i) {
            const f32x4 xi = splat_f(x[i]), wi = splat_f(w[i]), wx = splat_f(w[i] * x[i]);
            for (int g = 0; g < groups; ++g) {
                const f32x4 l = to_f32x4(clamp4(nearest_int4(vscale[g] * xi), -nmax, nmax - 1));
                sumlx[g] += wx * l;
                suml2[g] += (wi * l) * l;
            }
        }
    }
    float sx[groups * 4], s2[groups * 4];
    memcpy(sx, sumlx, sizeof sx);
    memcpy(s2, suml2, sizeof s2);

    float scale = s2[0] != 0.f ? sx[0] / s2[0] : 0.0f;  // `suml2 ? sumlx/suml2 : 0` (NaN is true)
    float best = scale * sx[0];
    int chosen = 0;
    for (int c = 1; c < candidates; ++c) {
        if (s2[c] > 0 && sx[c] * sx[c] > best * s2[c]) {
            scale = sx[c] / s2[c];
            best = scale * sx[c];
            chosen = c;
        }
    }
    const float is_best = iscale[chosen];
    for (int i = 0; i < n; ++i) {
        L[i] = (int8_t)(nmax + clamp_int(nearest_int(is_best * x[i]), -nmax, nmax - 1));
    }
    return scale;
}

float quanta_search_signed_scale(int n, int nmax, const float *restrict x, const float *restrict w,
                                 int8_t *restrict L) {
    // Constant sizes let clang unroll the element loops of the common shapes.
    if (n == 16) return signed_scale(16, nmax, x, w, L);
    if (n == 32) return signed_scale(32, nmax, x, w, L);
    return signed_scale(n, nmax, x, w, L);
}

// MARK: - make_q3_quants (do_rmse)

// One scale, then up to five sweeps over the elements, each moving one level when that raises
// sumlx^2/suml2. A move changes the sums every later element sees, but most elements do not move:
// four consecutive elements are tested at once against the current sums (exactly ggml's per-element
// arithmetic), the first whose level would change is decided in scalar, and the lanes after it are
// re-tested only if it was accepted (the sums changed).
float quanta_search_signed_scale_refined(int n, int nmax, const float *restrict x, int8_t *restrict L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < QUANTA_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    // Padded to a multiple of 4 past n: a zero x has w = wx = 0, proposes level 0 (or NaN, which
    // fails slx > 0) and holds level 0, so padding lanes never move.
    float xs[36] = {0}, w[36] = {0}, wx[36] = {0}, lf[36] = {0};
    int32_t li[36] = {0};
    const float iscale = (float)(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        xs[i] = x[i];
        w[i] = x[i] * x[i];
        wx[i] = w[i] * x[i];                // ggml's w*x[i] (then *l)
        const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        li[i] = l;
        lf[i] = (float)l;
        sumlx += wx[i] * lf[i];             // sumlx += w*x[i]*l
        suml2 += w[i] * lf[i] * lf[i];      // suml2 += w*l*l
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        int i = 0;
        while (i < n) {
            const f32x4 vx = load4(xs + i), vw = load4(w + i), vwx = load4(wx + i), vl = load4(lf + i);
            i32x4 vli;
            memcpy(&vli, li + i, sizeof vli);
            const f32x4 slx = splat_f(sumlx) - vwx * vl;           // sumlx - w*x[i]*L[i]
            const f32x4 sl2 = splat_f(suml2) - (vw * vl) * vl;     // suml2 - w*L[i]*L[i]
            const i32x4 new_l = clamp4(nearest_int4(vx * sl2 / slx), -nmax, nmax - 1);
            const i32x4 moves = (slx > splat_f(0.f)) & (new_l != vli);
            int next = i + 4;
            for (int k = 0; k < 4 && i + k < n; ++k) {
                if (!moves[k]) continue;
                const int j = i + k, nl = new_l[k];
                const float slx_j = slx[k] + wx[j] * (float)nl;
                const float sl2_j = sl2[k] + w[j] * (float)nl * (float)nl;
                if (sl2_j > 0 && slx_j * slx_j * suml2 > sumlx * sumlx * sl2_j) {
                    li[j] = nl;
                    lf[j] = (float)nl;
                    sumlx = slx_j;
                    suml2 = sl2_j;
                    ++n_changed;
                    next = j + 1;  // the sums changed: re-test the later elements
                    break;
                }
            }
            i = next;
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = (int8_t)(li[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// MARK: - make_qkx2_quants / make_qkx3_quants

// Candidate `is` (0..nstep) of ggml's loop: iscale = (rmin + rdelta*is + nmax)/(max - min) with the
// *current* min, levels l = clamp(nearest_int(iscale*(x - min)), 0, nmax), a weighted least-squares
// (scale, min) for those levels, and its weighted error. ggml keeps a candidate whose error is
// strictly below the best and then sets min to that candidate's min, so the candidates after a
// kept one see a different min. Four consecutive candidates are evaluated with the min in force;
// the scan keeps them in ggml's order and, when a kept candidate changes min (bit for bit), drops
// the later lanes and restarts right after it. Otherwise the later lanes were computed exactly as
// ggml computes them and stay valid.
QUANTA_INLINE float scale_min(int n, int nmax, const float *restrict x, const float *restrict w,
                             uint8_t *restrict L, float *restrict the_min, float rmin, float rdelta,
                             int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    bool nonfinite = is_nan_or_inf(x[0]);
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
        nonfinite |= is_nan_or_inf(x[i]);
    }
    const float data_min = min;
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        const int l = clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
        L[i] = (uint8_t)l;
        float diff = scale * (float)l + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += w[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }

    const f32x4 vsum_w = splat_f(sum_w), vsum_x = splat_f(sum_x);
    const i32x4 abs_mask = splat_i(0x7fffffff);
    f32x4 levels[32];
    int is = 0;
    while (is <= nstep) {
        const float range = max - min;
        f32x4 vis;
        for (int k = 0; k < 4; ++k) vis[k] = (rmin + rdelta * (float)(is + k) + (float)nmax) / range;
        // iscale*(x - min) is monotone in x, so it lies between its values at data_min and max:
        // when both are below 2^22 in magnitude (and x is finite) the float-domain levels are exact.
        bool fast = !nonfinite;
        const f32x4 at_min = vis * splat_f(data_min - min), at_max = vis * splat_f(range);
        for (int k = 0; k < 4; ++k) {
            fast &= fabsf(at_min[k]) < NEAREST_INT_EXACT && fabsf(at_max[k]) < NEAREST_INT_EXACT;
        }

        f32x4 sum_l = splat_f(0.f), sum_l2 = splat_f(0.f), sum_xl = splat_f(0.f);
        if (fast) {
            for (int i = 0; i < n; ++i) {
                const f32x4 l = rounded_level4(vis * splat_f(x[i] - min), 0.f, (float)nmax);
                levels[i] = l;
                const f32x4 wl = splat_f(w[i]) * l;
                sum_l += wl;                    // sum_l  += w*l
                sum_l2 += wl * l;               // sum_l2 += w*l*l
                sum_xl += wl * splat_f(x[i]);   // sum_xl += w*l*x[i]
            }
        } else {
            for (int i = 0; i < n; ++i) {
                const f32x4 l = to_f32x4(clamp4(nearest_int4(vis * splat_f(x[i] - min)), 0, nmax));
                levels[i] = l;
                const f32x4 wl = splat_f(w[i]) * l;
                sum_l += wl;
                sum_l2 += wl * l;
                sum_xl += wl * splat_f(x[i]);
            }
        }
        const f32x4 D = vsum_w * sum_l2 - sum_l * sum_l;
        f32x4 this_scale = (vsum_w * sum_xl - vsum_x * sum_l) / D;
        f32x4 this_min = (sum_l2 * vsum_x - sum_l * sum_xl) / D;
        const i32x4 positive = this_min > splat_f(0.f);
        this_min = select_f(positive, splat_f(0.f), this_min);
        this_scale = select_f(positive, sum_xl / sum_l2, this_scale);

        f32x4 err = splat_f(0.f);
        for (int i = 0; i < n; ++i) {
            f32x4 diff = this_scale * levels[i] + this_min - splat_f(x[i]);
            diff = use_mad ? (f32x4)((i32x4)diff & abs_mask) : diff * diff;
            err += splat_f(w[i]) * diff;
        }

        int next = is + 4;
        for (int k = 0; k < 4 && is + k <= nstep; ++k) {
            if (D[k] > 0 && err[k] < best_error) {
                for (int i = 0; i < n; ++i) L[i] = (uint8_t)levels[i][k];
                best_error = err[k];
                scale = this_scale[k];
                const float new_min = this_min[k];
                const bool min_changed = f32_to_bits(new_min) != f32_to_bits(min);
                min = new_min;
                if (min_changed) {
                    next = is + k + 1;
                    break;
                }
            }
        }
        is = next;
    }
    *the_min = -min;
    return scale;
}

float quanta_search_scale_min(int n, int nmax, const float *restrict x, const float *restrict w,
                              uint8_t *restrict L, float *restrict the_min, float rmin, float rdelta,
                              int nstep, bool use_mad) {
    // The callers' shapes as constants (Q2_K's 16 with mean absolute error, every other 16 / 32
    // with squared error), so the element loops unroll and the error loop has no branch.
    if (n == 16 && use_mad) return scale_min(16, nmax, x, w, L, the_min, rmin, rdelta, nstep, true);
    if (n == 16) return scale_min(16, nmax, x, w, L, the_min, rmin, rdelta, nstep, false);
    if (n == 32 && !use_mad) return scale_min(32, nmax, x, w, L, the_min, rmin, rdelta, nstep, false);
    return scale_min(n, nmax, x, w, L, the_min, rmin, rdelta, nstep, use_mad);
}

// MARK: - make_qp_quants

// Nine candidate scales (is = -4..4) by weighted error, then up to five coordinate-descent sweeps.
// n is 8 or 16 and this runs twice per super-block, so it stays scalar. L is uint8_t as in ggml:
// the first nearest_int is stored unclamped (a negative level wraps) and later read back as such.
float quanta_search_positive_scale(int n, int nmax, const float *restrict x, uint8_t *restrict L,
                                   const float *restrict w) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];  // MAX(max, x[i])
    if (max < QUANTA_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = (float)nmax / max;
    for (int i = 0; i < n; ++i) L[i] = (uint8_t)nearest_int(iscale * x[i]);
    const float scale = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        const float diff = x[i] - scale * (float)L[i];
        best_mse += w[i] * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        const float iscale_is = (0.1f * (float)is + (float)nmax) / max;
        const float scale_is = 1 / iscale_is;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale_is * x[i]);
            l = nmax < l ? nmax : l;  // MIN(nmax, l)
            const float diff = x[i] - scale_is * (float)l;
            mse += w[i] * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = nmax < l ? nmax : l;
        L[i] = (uint8_t)l;
        sumlx += w[i] * x[i] * (float)l;
        suml2 += w[i] * (float)l * (float)l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float wi = w[i];
            float slx = sumlx - wi * x[i] * (float)L[i];
            float sl2 = suml2 - wi * (float)L[i] * (float)L[i];
            if (slx > 0 && sl2 > 0) {
                int new_l = nearest_int(x[i] * sl2 / slx);
                new_l = nmax < new_l ? nmax : new_l;
                if (new_l != L[i]) {
                    slx += wi * x[i] * (float)new_l;
                    sl2 += wi * (float)new_l * (float)new_l;
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (uint8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}
