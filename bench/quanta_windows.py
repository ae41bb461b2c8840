"""Quanta's calibration-window draw, reproduced for the peer tools' sides of the benchmarks
(bench/gptqmodel_quantize.py, bench/awq_peer_quantize.py), so both tools calibrate on the same tokens.

Quanta's CalibrationSet (Sources/QuantaEngine/Calibration/CalibrationSet.swift): the whole text tokenized
once without special tokens, then per window SplitMix64(seed).next() % (tokens − seqlen − 1) is the start.
"""

MASK = (1 << 64) - 1


def splitmix64(seed: int):
    """SplitMix64 (Steele, Lea, Flood 2014), as QuantaCore/SplitMix64.swift."""
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def draw_windows(tokenizer, calib_text: str, samples: int, seqlen: int, seed: int) -> tuple:
    """(`samples` windows of `seqlen` token ids as Quanta draws them from the text at `calib_text`,
    the text's whole token count)."""
    tokens = tokenizer(open(calib_text, encoding="utf-8").read(), add_special_tokens=False)["input_ids"]
    generator = splitmix64(seed)
    windows = []
    for _ in range(samples):
        start = next(generator) % (len(tokens) - seqlen - 1)
        windows.append(tokens[start:start + seqlen])
    return windows, len(tokens)
