// OpenBLAS's CBLAS interface (Debian: libopenblas-dev puts cblas.h under the openblas include dir
// that pkg-config reports).
#include <cblas.h>

// LAPACK routines OpenBLAS exports (Fortran calling convention; Debian ships no lapacke.h for it).
// Used by GPTQ: Cholesky factorization and inverse of the (damped) Hessian; dposv_ solves the
// scale refit's small symmetric positive definite systems.
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b, const int *ldb, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
