"""An execution's page over an hour of the demo line (three devices x 3600 records): one score
chart per device by default, downsampled to the chart's width with every outlier bucket kept,
outliers in the device's colour, a 24-hour axis, a keyboard-operable legend; the scored window,
the neighbours, device and outlier filters, and the inference table a slice at a time."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    ABSOLUTE,
    HOUR_JOB,
    VIEWER,
    audit,
    shoot,
    sign_in,
    times_are_one_format_in_the_viewers_zone,
)
from tests.integration.live_server import LiveServer

pytestmark = pytest.mark.slow

SENDING = ["Demo pump 1", "Demo pump 2", "Demo pump 3"]
# The canvas colours at the centres of a chart's outlier marks, as CSS rgb() (marks that
# overlap blend at their edges, so a test looks for the fill among them).
MARK_COLOURS = """figure => {
    const u = figure.uplot;
    const found = [];
    u.data[2].forEach((v, i) => {
        if (v === null) { return; }
        const x = Math.round(u.valToPos(u.data[0][i], "x", true));
        const y = Math.round(u.valToPos(v, "y", true));
        const [r, g, b] = u.ctx.getImageData(x, y, 1, 1).data;
        found.push(`rgb(${r}, ${g}, ${b})`);
    });
    return found;
}"""
TICK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")


def open_run(page: Page, server: LiveServer, hour_run: tuple[int, int], query: str = "") -> str:
    sign_in(page, server.user, server.password)
    job, number = hour_run
    url = f"/jobs/{job}/executions/{number}"
    page.goto(url + query)
    expect(page.locator("#run-status .status")).to_have_text(re.compile("Success|Warning"))
    return url


def test_one_chart_per_device_downsampled_with_outliers_kept(
    page: Page, server: LiveServer, hour_run: tuple[int, int]
) -> None:
    url = open_run(page, server, hour_run)
    figures = page.locator("#charts figure.chart")
    expect(figures).to_have_count(len(SENDING))  # one output charted, one panel per device
    for name, figure in zip(SENDING, figures.all(), strict=True):
        expect(figure.locator("figcaption")).to_contain_text(name)
        expect(figure.locator("canvas").first).to_be_visible()
    expect(page.locator("#chart-heading")).to_have_text(
        "rawAnomalyScore over time, outliers marked"
    )
    expect(page.get_by_label("Chart", exact=True)).to_have_value("rawAnomalyScore")

    # 24-hour labels on the time axis (no AM/PM), as every time in the console.
    ticks = (figures.first.get_attribute("data-x-ticks") or "").split("|")
    assert len(ticks) >= 3
    assert all(TICK.match(t) for t in ticks), ticks

    # The server keeps, per pixel column, each device's extremes and flagged records.
    src = page.locator("#charts").get_attribute("data-src") or ""
    doc = page.request.get(src + "&width=300").json()
    assert doc["buckets"] == 300
    counts = {}
    for device in doc["devices"]:
        row = page.locator(f"#device-row-{device['id']}")
        records = int(row.locator("td").nth(2).inner_text())
        outliers = int(row.locator("td.outliers").inner_text())
        counts[device["name"]] = outliers
        assert device["records"] == records > 4 * 300 >= len(device["t"])
        assert device["outliers"] == outliers
        assert (sum(device["o"]) > 0) == (outliers > 0)
    assert sum(counts.values()) == int(page.locator("#outlier-total").inner_text().split()[0])

    # Outliers in the device's colour: the legend, the panel and the device table agree.
    legend = page.get_by_role("group", name="Show or hide in the charts")
    buttons = legend.get_by_role("button")
    expect(buttons).to_have_count(len(SENDING) + 1)
    colours = set()
    for i, name in enumerate(SENDING):
        swatch = f"swatch c{i}"
        expect(buttons.nth(i)).to_contain_text(f"{name} · {counts[name]} outlier")
        expect(buttons.nth(i).locator(".swatch")).to_have_class(swatch)
        expect(figures.nth(i).locator("figcaption .swatch")).to_have_class(swatch)
        colour = "e => getComputedStyle(e).backgroundColor"
        colours.add(buttons.nth(i).locator(".swatch").evaluate(colour))
    assert len(colours) == len(SENDING)
    # ... and the marks drawn on each chart are filled with that colour.
    for i in range(len(SENDING)):
        drawn = figures.nth(i).evaluate(MARK_COLOURS)
        swatch = buttons.nth(i).locator(".swatch").evaluate(colour)
        assert swatch in drawn, (SENDING[i], drawn[:5], swatch)

    # The legend works from the keyboard.
    buttons.first.focus()
    page.keyboard.press("Space")
    expect(buttons.first).to_have_attribute("aria-pressed", "false")
    expect(figures.first).to_be_hidden()
    audit(page, "execution, a device hidden from the charts")
    page.keyboard.press("Enter")
    expect(buttons.first).to_have_attribute("aria-pressed", "true")
    expect(figures.first).to_be_visible()
    page.locator("#charts").scroll_into_view_if_needed()
    shoot(page, "execution")
    assert url.endswith(f"/executions/{hour_run[1]}")


def test_window_neighbours_filters_and_rows_on_demand(
    page: Page, server: LiveServer, hour_run: tuple[int, int]
) -> None:
    url = open_run(page, server, hour_run)
    job, number = hour_run
    html = page.content()
    assert len(html.encode()) < 200_000  # was 1.6 MB: the table comes 100 records at a time
    expect(page.locator("#window")).to_contain_text("(1 h)")
    expect(page.locator("#window time")).to_have_count(2)
    assert times_are_one_format_in_the_viewers_zone(page) >= 5
    cells = page.locator("#inference-rows tr:not(#more-rows) td:nth-child(2)").all_inner_texts()
    assert all(ABSOLUTE.match(c) and VIEWER.search(c) for c in cells), cells[:3]
    expect(page.locator("#previous-run")).to_have_text(
        f"\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK} Previous (#{number - 1})"
    )
    expect(page.locator("#next-run")).to_have_count(0)

    rows = page.locator("#inference-rows tr:not(#more-rows)")
    expect(rows).to_have_count(100)
    more = page.get_by_role("link", name="Load 100 more")
    more.focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(200)
    expect(page.locator("#more-button")).to_be_focused()
    expect(page.locator("#rows-status")).to_have_text("100 more records shown, 200 in all.")
    audit(page, "execution, 200 rows loaded")

    # One device: the charts and the table show only it.
    pump = page.locator("#device option", has_text="Demo pump 2").get_attribute("value")
    chooser = page.get_by_label("Device", exact=True)
    chooser.focus()
    chooser.select_option(pump)
    expect(page).to_have_url(re.compile(r"device=\d+"))
    expect(page.locator("#charts figure.chart")).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text("Demo pump 2")
    assert set(rows.locator("td:first-child").all_inner_texts()) == {"Demo pump 2"}
    expect(chooser).to_be_focused()
    # Its outliers only.
    device = page.url.split("device=")[1].split("&")[0]
    outliers = int(page.locator(f"#device-row-{device} td.outliers").inner_text())
    assert outliers > 0
    page.get_by_label("Outliers only").check()
    expect(page).to_have_url(re.compile(r"outliers=1"))
    expect(rows).to_have_count(min(outliers, 100))
    assert set(rows.evaluate_all("rs => rs.map(r => r.className)")) == {"outlier"}
    audit(page, "execution, one device's outliers")

    page.locator("#previous-run").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{job}/executions/{number - 1}$"))
    expect(page.locator("#next-run")).to_have_attribute("href", url)
    expect(page.get_by_role("link", name=HOUR_JOB)).to_be_visible()
