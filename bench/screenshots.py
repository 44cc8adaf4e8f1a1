"""Screenshots of the window's main screens, offscreen, for review and documentation.

Run from the repository root:
``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/screenshots.py OUT_DIR``
(``--width 1366 --height 768 --font-scale 150 --high-contrast``: a counter screen in large-font,
high-contrast mode; under ``xvfb-run -s "-screen 0 1366x768x24"`` for a real X server).

Writes login.png, setup.png, workspace.png (mid-intake: card read, 新生儿出生 with part of its
items, questions answered, checklist partly marked), finish.png (the result after F12),
notice.png (an incomplete intake), search.png (a search with an opened intake) and lock.png.
Uses a temporary database with the demo station and the simulated ID card reader; documents are
"printed" to PDF files in the temporary directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=880)
    parser.add_argument("--font-scale", type=int, choices=(100, 125, 150), default=100)
    parser.add_argument("--high-contrast", action="store_true")
    args = parser.parse_args(argv)
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from ui.style import DisplayOptions, apply_style

    apply_style(app, DisplayOptions(args.font_scale, args.high_contrast))  # type: ignore[arg-type]

    from app.capture.idcard_sim import SimulatedReader
    from app.context import build_context
    from app.demo import setup_demo_station
    from app.options import Options
    from printing.dispatch import FilePrinterBackend
    from ui.shell import AppShell
    from ui.tasks import InlineTaskRunner

    def grab(widget: QWidget, name: str) -> None:
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        print(path)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("INTAKE_DATA_DIR", tmp)
        # First run: the set-up wizard.
        fresh = build_context(Path(tmp) / "fresh.db")
        first = AppShell(
            Options.of(idle_lock_minutes=0), InlineTaskRunner(), context_factory=lambda: fresh
        )
        first.open_store()
        assert first.setup is not None
        first.setup.resize(680, 480)
        first.setup.show()
        grab(first.setup, "setup")
        first.setup.close()

        ctx = build_context(Path(tmp) / "demo.db")
        setup_demo_station(ctx.staff)
        reader = SimulatedReader()
        shell = AppShell(
            Options.of(demo=True, idle_lock_minutes=0),
            InlineTaskRunner(),
            context_factory=lambda: ctx,
            printer=FilePrinterBackend(Path(tmp) / "printed"),
            reader=reader,
        )
        shell.start()
        shell.open_store()
        shell.login.username.setText("wangfang")
        app.processEvents()
        grab(shell.login, "login")

        shell.login.password.setText("clerk1234")
        shell.login.login_button.click()
        window = shell.window
        assert window is not None
        window.card_timer.stop()
        window.resize(args.width, args.height)
        window.show()
        intake = window.intake

        # Mid-intake: a card read, the bundle, part of its items, answers, some marks.
        reader.present()
        window.poll_card()
        intake.applicant.phone_edit.setText("13812345678")
        intake.save_applicant_now()
        intake.bundles.filter.setText("xsecs")
        intake.bundles.choose("newborn_birth")
        intake.bundles.items_list.item(1).setCheckState(
            Qt.CheckState.Unchecked
        )  # part of the items
        intake.questions.editor("parents_married").setCurrentIndex(1)
        intake.questions.editor("applied_by_agent").setCurrentIndex(2)
        intake.questions.editor("parents_local_insured").setCurrentIndex(1)
        intake.materials.marks_chosen.emit(
            {
                "application_form": "collected",
                "resident_id_card.father": "exempt",
                "resident_id_card.mother": "exempt",
            }
        )
        intake.materials.select_material("marriage_certificate")
        window.messages.dismiss()
        app.processEvents()
        grab(window, "workspace")

        # Finish with tolerance: commitment + receipt.
        lines = intake.checklist.materials if intake.checklist else ()
        marks = {
            m.id: ("tolerated" if m.id == "marriage_certificate" else "collected")
            for m in lines
            if m.state == "missing"
        }
        intake.materials.marks_chosen.emit(marks)
        intake.finish()
        app.processEvents()
        grab(window, "finish")
        number = intake.result.number.text()

        # An incomplete intake: the notice.
        intake.new_intake()
        window.poll_card()  # the reader notices the card was taken away…
        window.poll_card()
        reader.present()  # …and reads the next one placed
        window.poll_card()
        intake.applicant.phone_edit.setText("13912345678")
        intake.bundles.choose("newborn_birth")
        intake.questions.editor("parents_married").setCurrentIndex(2)
        intake.questions.editor("applied_by_agent").setCurrentIndex(2)
        intake.questions.editor("parents_local_insured").setCurrentIndex(1)
        intake.materials.mark_all_missing_collected()
        intake.materials.marks_chosen.emit({"parentage_proof": None, "household_register": None})
        intake.finish()
        app.processEvents()
        grab(window, "notice")

        # Search and an opened intake.
        window.show_search()
        window.search.query.setText(number)
        window.search.search()
        window.messages.dismiss()
        app.processEvents()
        grab(window, "search")

        window.tabs.setCurrentWidget(window.ledger)
        app.processEvents()
        grab(window, "ledger")

        window.lock()
        app.processEvents()
        assert window.lock_dialog is not None
        grab(window.lock_dialog, "lock")
        window.shutdown()
        ctx.close()
        fresh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
