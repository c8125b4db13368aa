"""`dreamrunner bench`: interleaved variants, medians with spread, LoRA rows (small geometry, CPU)."""

from __future__ import annotations

from dreamrunner_cli.sr3ai import attention, bench, lora


def test_bench_interleaves_variants_and_reports_medians_with_spread(monkeypatch):
    order: list[str] = []
    deltas: list[int] = []
    real_attend, real_hook = attention.RegionMask.attend, lora.RegionLoRA._hook

    def attend(self, q, k, v):
        order.append(self.backend)
        return real_attend(self, q, k, v)

    def hook(self, module, inputs, output):
        before = self.applied
        out = real_hook(self, module, inputs, output)
        deltas.append(self.applied - before)
        return out

    monkeypatch.setattr(attention.RegionMask, "attend", attend)
    monkeypatch.setattr(lora.RegionLoRA, "_hook", hook)
    result = bench.run_bench("small", prompts=(3,), repeats=3, backends=("none", "sdpa", "flex"), device="cpu",
                             loras=2)
    rows = {r["backend"]: r for r in result["rows"]}
    assert set(rows) == {"none", "sdpa", "flex", "sdpa +2 LoRAs", "flex +2 LoRAs"}
    for r in rows.values():
        lo, hi = r["step_ms_spread"]
        assert lo <= r["step_ms"] <= hi and r["seq_len"] == 3 * 32 + 3 * 10 * 15
    assert rows["none"]["ratio_time"] == 1.0
    # two blocks per step; the warm-up round and each timed round run sdpa, flex, sdpa+LoRA, flex+LoRA in turn
    per_round = ["sdpa"] * 2 + ["flex"] * 2 + ["sdpa"] * 2 + ["flex"] * 2
    assert order == per_round * 4
    assert sum(deltas) > 0  # the LoRA variants really added masked deltas (and the others none)
    table = bench.format_table(result)
    assert "flex +2 LoRAs" in table and "(min–max)" in table


# `make gpu-check` (sr3ai/gpu_check.py) in --smoke mode: tests/test_gpu_check.py.
