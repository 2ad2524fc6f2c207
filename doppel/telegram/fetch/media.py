"""A Telethon message's media -> the media keys the Desktop export writes (files never included)."""
from __future__ import annotations

from typing import Any

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"


def _str(value) -> str:
    """TextWithEntities (poll texts since layer 178) or str -> str."""
    return getattr(value, "text", value) or ""


def _document(doc, out: dict) -> None:
    from telethon.tl import types

    out["file"] = NOT_INCLUDED
    flags: dict[str, Any] = {}
    for attr in getattr(doc, "attributes", None) or []:
        if isinstance(attr, (types.DocumentAttributeSticker, types.DocumentAttributeCustomEmoji)):
            flags["sticker"], flags["emoji"] = True, attr.alt
        elif isinstance(attr, types.DocumentAttributeAnimated):
            flags["animation"] = True
        elif isinstance(attr, types.DocumentAttributeVideo):
            flags["video_message" if attr.round_message else "video_file"] = True
            flags["duration"], flags["w"], flags["h"] = attr.duration, attr.w, attr.h
        elif isinstance(attr, types.DocumentAttributeAudio):
            flags["voice_message" if attr.voice else "audio_file"] = True
            flags["duration"], flags["performer"], flags["title"] = attr.duration, attr.performer, attr.title
        elif isinstance(attr, types.DocumentAttributeImageSize):
            flags["w"], flags["h"] = attr.w, attr.h
    for kind in ("sticker", "video_message", "voice_message", "animation", "video_file", "audio_file"):
        if flags.get(kind):
            out["media_type"] = kind
            break
    if flags.get("sticker"):
        out["sticker_emoji"] = flags.get("emoji") or ""
    elif getattr(doc, "mime_type", None):
        out["mime_type"] = doc.mime_type
    if out.get("media_type") == "audio_file":
        for key in ("performer", "title"):
            if flags.get(key):
                out[key] = flags[key]
    if flags.get("duration"):
        out["duration_seconds"] = int(flags["duration"])
    if flags.get("w") and flags.get("h"):
        out["width"], out["height"] = flags["w"], flags["h"]


def media_keys(media, out: dict) -> bool:
    """Media keys of the export; False for media the Desktop exporter cannot render (`unsupported`)."""
    from telethon.tl import types

    if media is None:
        return True
    if isinstance(media, types.MessageMediaUnsupported):
        return False
    if isinstance(media, types.MessageMediaPhoto):
        out["photo"] = NOT_INCLUDED
    elif isinstance(media, types.MessageMediaDocument):
        _document(media.document, out)
    elif isinstance(media, types.MessageMediaContact):
        phone = media.phone_number or ""
        out["contact_information"] = {
            "first_name": media.first_name or "", "last_name": media.last_name or "",
            "phone_number": ("+" + phone) if phone.isdigit() else phone,
        }
    elif isinstance(media, types.MessageMediaVenue):
        out["place_name"], out["address"] = media.title, media.address
        if isinstance(media.geo, types.GeoPoint):
            out["location_information"] = {"latitude": media.geo.lat, "longitude": media.geo.long}
    elif isinstance(media, (types.MessageMediaGeo, types.MessageMediaGeoLive)):
        geo = media.geo
        out["location_information"] = (
            {"latitude": geo.lat, "longitude": geo.long} if isinstance(geo, types.GeoPoint) else None
        )
        if isinstance(media, types.MessageMediaGeoLive) and media.period:
            out["live_location_period_seconds"] = media.period
    elif isinstance(media, types.MessageMediaPoll):
        poll, results = media.poll, media.results
        votes = {r.option: r for r in (getattr(results, "results", None) or [])}
        out["poll"] = {
            "question": _str(poll.question),
            "closed": bool(poll.closed),
            "total_voters": getattr(results, "total_voters", None) or 0,
            "answers": [
                {
                    "text": _str(a.text),
                    "voters": getattr(votes.get(a.option), "voters", None) or 0,
                    "chosen": bool(getattr(votes.get(a.option), "chosen", False)),
                }
                for a in poll.answers
            ],
        }
    elif isinstance(media, types.MessageMediaGame):
        out["game_title"], out["game_description"] = media.game.title, media.game.description
    elif isinstance(media, types.MessageMediaInvoice):
        out["invoice_information"] = {
            "title": media.title, "description": media.description,
            "amount": media.total_amount, "currency": media.currency,
        }
        if media.receipt_msg_id:
            out["invoice_information"]["receipt_message_id"] = media.receipt_msg_id
    # web page previews, dice, stories, giveaways...: the Desktop exporter writes no media keys either
    return True
