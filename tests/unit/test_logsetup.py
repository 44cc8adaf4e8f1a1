import logging

import pytest

from app.logsetup import ScrubFilter, scrub


def test_scrub_masks_id_numbers_usccs_and_phones():
    text = scrub(
        "id 11010519491231002X uscc 91350100M000100Y43 tel 13812345678 intake XX01-241202-0001-4"
    )
    assert "11010519491231002X" not in text and "110105********002X" in text
    assert "91350100M000100Y43" not in text and "13812345678" not in text and "138****5678" in text
    assert "XX01-241202-0001-4" in text  # intake numbers are what logs are for


def test_filter_rewrites_the_record():
    record = logging.LogRecord(
        "intake.x", logging.INFO, __file__, 1, "applicant %s", ("11010519491231002X",), None
    )
    assert ScrubFilter().filter(record)
    assert "11010519491231002X" not in record.getMessage()


@pytest.mark.expect_log(logging.WARNING, "intake.printing", r" for ")
def test_printing_lines_reach_the_log_file_through_the_scrubber(tmp_path, monkeypatch):
    import app.logsetup as logsetup
    from printing import documents, fonts

    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(logsetup, "_configured", False)
    root = logging.getLogger("intake")
    before = list(root.handlers)
    try:
        logsetup.setup_logging()
        documents.log.warning("receipt for %s failed", "11010519491231002X")
        fonts.log.warning("font probe for tel %s", "13812345678")
        for h in root.handlers:
            h.flush()
        text = (tmp_path / "logs" / "intake.log").read_text(encoding="utf-8")
    finally:
        for h in root.handlers[len(before) :]:
            h.close()
            root.removeHandler(h)
    assert "intake.printing.documents: receipt for 110105********002X failed" in text
    assert "intake.printing.fonts: font probe for tel 138****5678" in text
    assert "11010519491231002X" not in text and "13812345678" not in text
