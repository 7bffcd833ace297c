"""The strategy planner: margins, merging, budgets, and when auto picks full / crop / resize."""

from __future__ import annotations

import numpy as np
import pytest

from lamapaint.core.geometry import Rect
from lamapaint.inpaint import regions
from lamapaint.inpaint.regions import DEFAULT_WORK_PIXELS, context_margin, plan_regions


def _mask(h: int, w: int, *rects: Rect) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    for r in rects:
        m[r.slices] = 255
    return m


def _covers_every_hole_pixel_once(mask: np.ndarray, plan: list[regions.Region]) -> bool:
    count = np.zeros(mask.shape, np.int32)
    for r in plan:
        count[r.rect.slices] += 1
    return bool((count[mask != 0] == 1).all())


def test_no_hole_no_region() -> None:
    assert plan_regions(np.zeros((50, 60), np.uint8)) == []


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="strategy"):
        plan_regions(_mask(20, 20, Rect(1, 1, 5, 5)), "tiles")


def test_full_is_the_whole_photo_at_scale_one() -> None:
    mask = _mask(3000, 4000, Rect(10, 10, 20, 20))
    (r,) = plan_regions(mask, "full")
    assert r.rect == Rect(0, 0, 4000, 3000) and r.scale == 1.0 and r.kind == "full"
    assert r.hole == Rect(10, 10, 20, 20)


def test_small_hole_on_large_photo_runs_at_native_resolution() -> None:
    """Quality guard: a small object on a 24 MP photo is filled at scale 1 on a small crop."""
    mask = _mask(4000, 6000, Rect(3000, 2000, 3200, 2150))
    (r,) = plan_regions(mask, "auto")
    assert r.scale == 1.0 and r.kind == "crop"
    assert r.rect.contains(Rect(3000, 2000, 3200, 2150))
    assert r.network_pixels < 6000 * 4000 / 100


def test_big_hole_is_scaled_to_the_budget() -> None:
    mask = _mask(4000, 6000, Rect(500, 500, 4500, 3500))
    (r,) = plan_regions(mask, "auto", work_pixels=512 * 512)
    assert r.scale < 1.0 and r.kind == "resize"
    w, h = r.work_size
    assert w * h <= 512 * 512 * 1.25  # the budget, plus growth to FFT-friendly sides
    # one axis may be up to 7 % shorter, where the photo left no room to grow to an FFT-friendly side
    assert abs(w / h - r.rect.width / r.rect.height) < 0.08 * r.rect.width / r.rect.height


def test_crop_strategy_never_scales() -> None:
    mask = _mask(4000, 6000, Rect(500, 500, 4500, 3500))
    (r,) = plan_regions(mask, "crop", work_pixels=512 * 512)
    assert r.scale == 1.0 and r.kind == "crop"


def test_resize_scales_the_whole_photo_to_the_budget() -> None:
    mask = _mask(2000, 3000, Rect(10, 10, 30, 30))
    (r,) = plan_regions(mask, "resize", work_pixels=300_000)
    assert r.rect == Rect(0, 0, 3000, 2000) and r.scale == pytest.approx((300_000 / 6_000_000) ** 0.5)
    (small,) = plan_regions(_mask(200, 300, Rect(10, 10, 30, 30)), "resize")
    assert small.scale == 1.0 and small.kind == "full"


def test_margin_grows_with_the_hole() -> None:
    assert context_margin(Rect(0, 0, 10, 10)) == regions.MIN_MARGIN
    assert context_margin(Rect(0, 0, 2000, 100)) == round(regions.MARGIN_FRACTION * 2000)
    assert context_margin(Rect(0, 0, 2000, 100)) > context_margin(Rect(0, 0, 400, 100))


def test_crop_keeps_margin_and_is_clipped_at_the_border() -> None:
    mask = _mask(1000, 1000, Rect(0, 400, 100, 500))
    (r,) = plan_regions(mask, "crop")
    m = context_margin(Rect(0, 400, 100, 500))
    slack = regions.FFT_MARGIN_SLACK
    assert r.rect.contains(Rect(0, 400 - m + slack, 100 + m - slack, 500 + m - slack)) and r.rect.x0 == 0
    # 132 (pads to 136 = 8 x 17) shrinks to 128 = 8 x 16; 164 pads to 168 = 8 x 21 anyway, so it
    # grows there: real context instead of padding, at the same cost
    assert (r.rect.width, r.rect.height) == (128, 168)


def _bottleneck_is_friendly(r: regions.Region) -> bool:
    w, h = (regions.padded_side(s) // 8 for s in r.work_size)
    return w % 2 == 0 and all(max(_prime_factors(n)) <= 13 for n in (w, h) if n > 1)


def _prime_factors(n: int) -> list[int]:
    found, p = [], 2
    while n > 1:
        while n % p == 0:
            found.append(p)
            n //= p
        p += 1
    return found


def test_fft_friendly_sides() -> None:
    assert regions.fft_friendly_side(632, even=True) == 640  # 79 is prime -> 80
    assert regions.fft_friendly_side(681, even=False) == 704  # 86 = 2 x 43, 87 = 3 x 29 -> 88 = 8 x 11
    assert regions.fft_friendly_side(504, even=False) == 504  # 63 = 3^2 x 7, odd is fine for the height
    assert regions.fft_friendly_side(504, even=True) == 512  # ... but the width's real FFT wants even
    assert regions.fft_friendly_side(3, even=True) == 16


def test_regions_are_grown_to_fft_friendly_sizes_when_there_is_room() -> None:
    """A 491 x 545 hole: its 627 x 681 crop would give the FFTs lengths 79 (prime) and 86 (2 x 43)."""
    hole = Rect(2000, 1500, 2491, 2045)
    (r,) = plan_regions(_mask(3391, 6028, hole), "auto")
    assert r.scale == 1.0 and r.rect.contains(hole.pad(context_margin(hole) - regions.FFT_MARGIN_SLACK))
    assert _bottleneck_is_friendly(r)
    assert r.network_pixels <= 632 * 688  # 624 x 672: a few pixels of margin given up, none added
    big = Rect(500, 500, 4500, 3500)
    (scaled,) = plan_regions(_mask(4000, 6000, big), "auto", work_pixels=512 * 512)
    assert scaled.kind == "resize" and _bottleneck_is_friendly(scaled) and scaled.rect.contains(big)


def test_growth_that_would_overlap_another_region_is_dropped() -> None:
    # 310 px crops: the friendly side below (288) is too far, so each would grow to 320
    a, b = Rect(100, 100, 346, 150), Rect(412, 100, 658, 150)
    plan = plan_regions(_mask(400, 1000, a, b), "crop")
    assert len(plan) == 2 and not plan[0].rect.intersects(plan[1].rect)
    grown = [regions.fit_for_fft(r, 1000, 400) for r in plan]
    assert grown[0].rect.intersects(grown[1].rect)  # what the planner had to avoid
    assert [r.rect for r in plan] == [a.pad(regions.MIN_MARGIN), b.pad(regions.MIN_MARGIN)]


def test_near_holes_merge_far_holes_stay_apart() -> None:
    near = _mask(2000, 2000, Rect(100, 100, 150, 150), Rect(190, 100, 240, 150))
    assert len(plan_regions(near, "crop")) == 1
    far = _mask(2000, 2000, Rect(100, 100, 150, 150), Rect(1500, 1500, 1550, 1550))
    plan = plan_regions(far, "crop")
    assert len(plan) == 2
    assert not plan[0].rect.intersects(plan[1].rect)


def test_regions_never_overlap_and_cover_every_hole_pixel() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        rects = []
        for _ in range(int(rng.integers(1, 12))):
            x, y = (int(v) for v in rng.integers(0, 900, 2))
            w, h = (int(v) for v in rng.integers(1, 120, 2))
            rects.append(Rect(x, y, x + w, y + h))
        mask = _mask(1000, 1000, *rects)
        for strategy in ("auto", "crop"):
            plan = plan_regions(mask, strategy, work_pixels=300_000)
            assert _covers_every_hole_pixel_once(mask, plan), (strategy, rects)


def test_auto_runs_full_on_a_small_photo_with_big_holes() -> None:
    mask = _mask(400, 650, Rect(100, 100, 500, 300))
    (r,) = plan_regions(mask, "auto")
    assert r.kind == "full" and r.scale == 1.0
    assert r.rect == Rect(0, 0, 650, 400)  # not fitted to the FFT-friendly 640: the whole photo


def test_auto_crops_a_small_hole_on_a_small_photo() -> None:
    (r,) = plan_regions(_mask(400, 600, Rect(100, 100, 120, 120)), "auto")
    assert r.kind == "crop" and r.rect.area < 400 * 600 / 4


def test_auto_merges_scattered_big_holes_into_one_scaled_pass() -> None:
    """Thick strokes all over a photo: one pass at the budget instead of several near-budget ones."""
    holes = [Rect(0, 0, 2500, 400), Rect(0, 2000, 2500, 2400), Rect(3500, 0, 3900, 2600)]
    mask = _mask(2600, 4000, *holes)
    plan = plan_regions(mask, "auto", work_pixels=DEFAULT_WORK_PIXELS)
    assert len(plan) == 1 and plan[0].scale < 1.0
    assert plan[0].network_pixels <= DEFAULT_WORK_PIXELS * 1.25
    assert _covers_every_hole_pixel_once(mask, plan)


def test_budget_has_a_floor() -> None:
    mask = _mask(2000, 2000, Rect(0, 0, 2000, 2000))
    (r,) = plan_regions(mask, "resize", work_pixels=10)
    assert r.work_size[0] * r.work_size[1] >= regions.MIN_WORK_PIXELS * 0.99


def test_many_specks_become_one_region() -> None:
    mask = np.zeros((600, 600), np.uint8)
    mask[::6, ::6] = 255  # 10,000 isolated pixels
    plan = plan_regions(mask, "crop")
    assert len(plan) == 1 and _covers_every_hole_pixel_once(mask, plan)
