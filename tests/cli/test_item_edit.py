"""`evidence-vault item edit / hide` and the Vault.edit_item service under it, on real SQLCipher files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from app.errors import InvalidInput
from app.vault.record_values import capture_time
from app.vault.vault import Vault


@pytest.fixture
def photo_item(cli, tmp_path: Path) -> str:
    cli("init")
    photo = tmp_path / "IMG_0042.png"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(photo)
    return cli("ingest", str(photo))[0].strip()


def _show(cli, item_id: str) -> dict:
    return json.loads(cli("show", item_id, "--json")[0])


def test_edit_every_field_records_one_event_without_the_text(cli, photo_item: str) -> None:
    case_id = cli("case", "add", "Mae Sot crossing")[0].strip()
    _, err = cli("item", "edit", photo_item, "--title", "ด่านตรวจ checkpoint", "--description", "Taken by A.",
                 "--place", "Mae Sot", "--source", "Witness phone", "--captured", "2026-11-20 14:05 +07:00",
                 "--tags", "checkpoint, soldiers, checkpoint", "--case", case_id)
    assert "changed" in err and "custody" in err
    shown = _show(cli, photo_item)
    item = shown["item"]
    assert item["title"] == "ด่านตรวจ checkpoint"
    assert item["description"] == "Taken by A."
    assert item["place"] == "Mae Sot" and item["source"] == "Witness phone"
    assert item["captured_at"] == "2026-11-20T14:05:00+07:00"
    assert item["tags"] == ["checkpoint", "soldiers"]
    assert item["case_id"] == int(case_id)
    changes = [e for e in shown["custody"] if e["action"] == "item_changed"]
    assert len(changes) == 1
    details = changes[0]["details"]
    assert details["fields"] == ["captured_at", "case_id", "description", "place", "source", "tags", "title"]
    assert len(details["record_digest"]) == 64
    # The custody log is exported and cannot be redacted: it must not carry what was typed.
    raw = json.dumps(changes[0], ensure_ascii=False)
    for secret in ("Mae Sot", "Witness phone", "ด่านตรวจ", "soldiers", "Taken by"):
        assert secret not in raw
    verified = json.loads(cli("verify", "--json")[0])
    assert verified["ok"] is True


def test_unchanged_values_record_nothing_and_blank_clears(cli, photo_item: str) -> None:
    cli("item", "edit", photo_item, "--place", "Mae Sot")
    _, err = cli("item", "edit", photo_item, "--place", "Mae Sot")
    assert "nothing changed" in err
    cli("item", "edit", photo_item, "--place", "", "--case", "none")
    shown = _show(cli, photo_item)
    assert shown["item"]["place"] is None
    assert [e["details"]["fields"] for e in shown["custody"] if e["action"] == "item_changed"] == [["place"]] * 2


def test_search_finds_the_new_title(cli, photo_item: str) -> None:
    cli("item", "edit", photo_item, "--title", "Burned village school")
    hits = json.loads(cli("search", "village", "--json")[0])
    assert [hit["item_id"] for hit in hits] == [int(photo_item)]


@pytest.mark.parametrize(("args", "words"), [
    (("--captured", "20/11/2026"), "not a capture time"),
    (("--captured", "2026-02-30"), "not a real date"),
    (("--title", "   "), "non-empty"),
    (("--case", "99"), "no case number 99"),
    (("--case", "first"), "case as its number"),
    ((), "Say what to change"),
])
def test_bad_input_is_refused_and_changes_nothing(cli, photo_item: str, args: tuple[str, ...], words: str) -> None:
    before = _show(cli, photo_item)
    _, err = cli("item", "edit", photo_item, *args, expect=2)
    assert words in err
    assert _show(cli, photo_item)["item"] == before["item"]


def test_missing_item_is_named(cli, photo_item: str) -> None:
    _, err = cli("item", "edit", "77", "--title", "x", expect=2)
    assert "no item number 77" in err


def test_hide_keeps_original_and_custody(cli, photo_item: str) -> None:
    sha = _show(cli, photo_item)["item"]["sha256"]
    _, err = cli("item", "hide", photo_item)
    assert "now hidden" in err
    _, err = cli("item", "hide", photo_item)
    assert "already hidden" in err
    shown = _show(cli, photo_item)
    assert shown["item"]["metadata"]["hidden"] is True and shown["item"]["sha256"] == sha
    hides = [e for e in shown["custody"] if e["action"] == "item_changed"]
    assert [(e["details"]["fields"], e["details"]["hidden"]) for e in hides] == [(["metadata"], True)]
    assert shown["custody"][0]["action"] == "item_ingested"
    assert json.loads(cli("list", "--json")[0])[0]["hidden"] is True
    assert cli("list")[0].rstrip().endswith("(hidden)")
    cli("item", "unhide", photo_item)
    assert "hidden" not in _show(cli, photo_item)["item"]["metadata"]
    assert json.loads(cli("verify", "--json")[0])["ok"] is True


def test_hide_keeps_ingest_warnings(tmp_path: Path, passphrase: str) -> None:
    broken = tmp_path / "cut.png"
    full = tmp_path / "full.png"
    Image.new("RGB", (200, 200), (1, 2, 3)).save(full)
    broken.write_bytes(full.read_bytes()[:300])
    with Vault.create(tmp_path / "v.vault", passphrase, actor="Somchai") as vault:
        item_id = vault.ingest_file(broken).item_id
        warnings = vault.get_item(item_id).ingest_warnings
        assert warnings
        vault.set_item_hidden(item_id)
        assert vault.get_item(item_id).ingest_warnings == warnings


@pytest.mark.parametrize(("typed", "stored"), [
    ("2026-11-20", "2026-11-20"),
    ("2026-11-20 14:05", "2026-11-20T14:05:00"),
    ("2026-11-20T14:05:09Z", "2026-11-20T14:05:09Z"),
    ("2026-11-20 14:05 UTC", "2026-11-20T14:05:00Z"),
    ("2026-11-20T14:05:09.5-0330", "2026-11-20T14:05:09-03:30"),
    ("  ", None),
])
def test_capture_time_forms(typed: str, stored: str | None) -> None:
    assert capture_time(typed) == stored


@pytest.mark.parametrize("typed", ["2026-11-20 25:00", "2026-11-20 10:00 +15:00", "yesterday", "2026-13-01"])
def test_capture_time_refuses(typed: str) -> None:
    with pytest.raises(InvalidInput):
        capture_time(typed)


def test_actor_profile_lives_in_the_vault(tmp_path: Path, passphrase: str) -> None:
    path = tmp_path / "v.vault"
    with Vault.create(path, passphrase, actor="Somchai") as vault:
        assert vault.actor_profile().role == ""
        vault.set_actor_profile(role="Lawyer", organisation="Legal Aid Mae Sot")
    with Vault.open(path, passphrase, actor="Somchai") as vault:
        profile = vault.actor_profile()
        assert (profile.name, profile.role, profile.organisation) == ("Somchai", "Lawyer", "Legal Aid Mae Sot")
    with Vault.open(path, passphrase, actor="Dara") as vault:
        assert vault.actor_profile().role == ""
    assert b"Lawyer" not in path.read_bytes()  # encrypted with everything else


def test_profile_command_remembers_the_role_per_actor(cli) -> None:
    cli("init")
    assert cli("--actor", "Somchai", "profile")[0].strip() == "Somchai\t(no role)\t(no organisation)"
    cli("--actor", "Somchai", "profile", "--role", "Lawyer", "--organisation", "Legal Aid")
    cli("--actor", "Somchai", "profile", "--organisation", "Legal Aid Mae Sot")
    assert cli("--actor", "Somchai", "profile")[0].strip() == "Somchai\tLawyer\tLegal Aid Mae Sot"
    assert cli("--actor", "Dara", "profile")[0].strip() == "Dara\t(no role)\t(no organisation)"
