import pytest

from app.context import build_context
from app.numbering import (
    encode_receipt_payload,
    format_intake_number,
    parse_intake_number,
    parse_receipt_payload,
)
from app.receipts import verify_receipt
from local_db.keys import MemorySecretStore

from .test_intake_service import new_intake

pytestmark = pytest.mark.integration


@pytest.fixture()
def signed(tmp_path, newborn_catalog, clock):
    c = build_context(
        tmp_path / "s.sqlite3",
        clock=clock,
        catalog_path=newborn_catalog,
        secrets=MemorySecretStore(),
    )
    _st, admin = c.staff.setup_station(
        code="XX01",
        name="站",
        centre_name="中心",
        jurisdiction="xinxiang",
        admin_username="admin",
        admin_display_name="管理员",
        admin_password="admin1234",
    )
    clerk = c.staff.create_account(
        admin, username="w", display_name="王芳", role="clerk", password="clerk1234"
    )
    yield c, clerk
    c.close()


def _receipt(signed):
    c, clerk = signed
    sid = new_intake(c, clerk)
    c.intake.finish(clerk, sid)
    doc = c.documents.document(None, sid, "receipt")
    keys = {c.signer.key_id: c.signer.public_key_text()}
    return c, sid, doc, keys


def test_genuine_receipt_verifies_offline(signed):
    c, sid, doc, keys = _receipt(signed)
    v = verify_receipt(doc.qr_payload, keys)
    assert v.valid and v.code == "receipt.ok" and v.number == doc.number
    # a reprint carries the same signed content
    assert c.documents.document(None, sid, "receipt", reprint=True).qr_payload == doc.qr_payload


RECEIPT_FIELDS = ("number", "t", "m", "k", "s")


def altered_receipt(payload: str, field: str) -> str:
    """The receipt QR PAYLOAD with one FIELD changed (the intake number, time, manifest hash,
    key id or signature), otherwise well formed: what a forger would print."""
    ref = parse_receipt_payload(payload)
    fields, number = dict(ref.fields), ref.number
    if field == "number":
        n = parse_intake_number(number)
        number = format_intake_number(n.station_code, n.day, n.sequence + 1)
    elif field == "s":
        fields["s"] = ("A" if fields["s"][0] != "A" else "B") + fields["s"][1:]
    else:
        fields[field] = fields[field][:-1] + ("0" if fields[field][-1] != "0" else "1")
    return encode_receipt_payload(number, **fields)


@pytest.mark.parametrize("field", RECEIPT_FIELDS)
def test_any_changed_field_fails(signed, field):
    _c, _sid, doc, keys = _receipt(signed)
    v = verify_receipt(altered_receipt(doc.qr_payload, field), keys)
    assert not v.valid and v.code in ("receipt.bad_signature", "receipt.unknown_key")


def test_manifest_must_match_the_record(signed):
    _c, _sid, doc, keys = _receipt(signed)
    assert (
        verify_receipt(doc.qr_payload, keys, expected_manifest="0" * 32).code
        == "receipt.manifest_mismatch"
    )


def test_unsigned_and_foreign_codes(signed):
    _c, _sid, doc, keys = _receipt(signed)
    assert verify_receipt("http://example.com", keys).code == "receipt.not_ours"
    assert verify_receipt(doc.number, keys).code == "receipt.unsigned"
    assert verify_receipt(doc.qr_payload, {}).code == "receipt.unknown_key"


def test_the_printed_qr_carries_the_signature(signed):
    import pypdfium2
    from pyzbar import pyzbar

    from printing.documents import build_receipt

    _c, _sid, doc, keys = _receipt(signed)
    page = pypdfium2.PdfDocument(build_receipt(doc))[0]
    codes = {
        c.type: c.data.decode()
        for c in pyzbar.decode(page.render(scale=200 / 72).to_pil().convert("L"))
    }
    assert verify_receipt(codes["QRCODE"], keys).valid


def test_verify_receipt_cli(signed, tmp_path, capsys):
    import json

    from app.cli import main

    _c, _sid, doc, keys = _receipt(signed)
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(json.dumps(keys))
    assert main(["verify-receipt", doc.qr_payload, "--keys", str(keyfile), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["number"] == doc.number
    tampered = doc.qr_payload.replace("|t=", "|t=1")
    assert main(["verify-receipt", tampered, "--keys", str(keyfile), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["code"] == "receipt.bad_signature"


def test_a_signature_with_other_unused_bits_fails(signed):
    # 64 signature bytes are 86 base64 characters; the last one carries 2 unused bits, so a
    # lenient decoder maps 4 different last characters to the same bytes.
    _c, _sid, doc, keys = _receipt(signed)
    ref = parse_receipt_payload(doc.qr_payload)
    sig = ref.fields["s"]
    assert len(sig) == 86
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    i = alphabet.index(sig[-1])
    twin = alphabet[i ^ 1]  # flips an unused bit only
    forged = encode_receipt_payload(ref.number, **{**ref.fields, "s": sig[:-1] + twin})
    assert forged != doc.qr_payload
    v = verify_receipt(forged, keys)
    assert not v.valid and v.code == "receipt.bad_signature"
    padded = encode_receipt_payload(ref.number, **{**ref.fields, "s": sig + "=="})
    assert verify_receipt(padded, keys).code == "receipt.bad_signature"
