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


def test_gpu_check_script_runs_every_part_in_smoke_mode(tmp_path, capsys):
    """`make gpu-check` cannot run here (no GPU); its smoke mode runs the same code at the small CPU geometry."""
    import json

    from dreamrunner_cli.sr3ai import gpu_check

    gpu_check.main(["--smoke", "--out", str(tmp_path / "gpu-check.json")])
    result = json.loads((tmp_path / "gpu-check.json").read_text())
    assert {r["backend"] for r in result["bench"]["rows"]} == {"none", "sdpa", "flex", "sdpa +4 LoRAs", "flex +4 LoRAs"}
    assert result["agreement"]["max_abs_diff"] < 1e-4
    assert [m["backend"] for m in result["mask_memory"]] == ["sdpa", "flex"]
    render = result["render"]
    assert render["scheduler"] == "CogVideoXDPMScheduler" and render["frames_out"] == 9 and render["loras"] == 4
    assert render["mask_calls"] == 2 * 3  # 2 blocks × 3 steps (CFG halves share one call)
    assert "gpu-check on cpu" in capsys.readouterr().out
    assert (tmp_path / "gpu-check.md").exists()
