"""The printer test page of the 设备设置 screen: the station, the printer, the paper, the time,
a line of Chinese and a frame 10 mm inside the paper edge (to see the printer's margins). No
personal data."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from printing.fonts import default_font_set

SIZES = {"A4": A4, "A5": A5}


def build_test_page(station: str, printer: str, paper: str, when: str) -> bytes:
    width, height = SIZES.get(paper, A4)
    fonts = default_font_set()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height))
    c.setTitle("打印测试页")
    c.setLineWidth(0.8)
    c.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
    y = height - 30 * mm
    for size, text in (
        (20, "打印测试页"),
        (12, f"站点：{station}"),
        (12, f"打印机：{printer}"),
        (12, f"纸张：{paper}"),
        (12, f"时间：{when}"),
        (12, "一件事一次办 综合受理窗口：中文、数字 0123456789 与边框均应完整清晰。"),
        (10, "外框距纸边 10 毫米；如外框不完整，请调整打印机的边距或缩放设置。"),
    ):
        x = 20 * mm
        for run in fonts.split_runs(text):
            c.setFont(run.font, size)
            c.drawString(x, y, run.text)
            x += c.stringWidth(run.text, run.font, size)
        y -= size * 1.9
    c.showPage()
    c.save()
    return buf.getvalue()
