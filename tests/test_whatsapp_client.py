"""The Cloud API client against the offline stand-in: sends, errors as exceptions, media."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.i18n import translator
from handlers.whatsapp.client import (
    CloudApi,
    CloudApiError,
    MediaTooLarge,
    RateLimited,
    ReEngagementRequired,
    TokenExpired,
    Undeliverable,
    error_for,
)
from handlers.whatsapp.render import Row, Screen, render
from handlers.whatsapp.standin import CloudApiStandIn

ANI = "6281234567890"
TOKEN = "standin-token"


@pytest.fixture
async def standin() -> AsyncIterator[CloudApiStandIn]:
    async with CloudApiStandIn(token=TOKEN) as api:
        yield api


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        yield client


def _api(standin: CloudApiStandIn, http: aiohttp.ClientSession, token: str = TOKEN) -> CloudApi:
    return CloudApi(standin.base_url, standin.state.phone_number_id, token, http)


async def test_send_a_rendered_prompt(
    standin: CloudApiStandIn, http: aiohttp.ClientSession
) -> None:
    api = _api(standin, http)
    prompt = Screen("Lanjutkan?", [Row("ya", "Ya"), Row("tidak", "Tidak")])
    ids = await api.send_all(render(prompt, ANI, translator("id")))
    assert len(ids) == 1 and ids[0].startswith("wamid.")
    [sent] = standin.sent
    assert sent["to"] == ANI and sent["interactive"]["type"] == "button"
    assert TOKEN not in repr(api)


async def test_send_template(standin: CloudApiStandIn, http: aiohttp.ClientSession) -> None:
    await _api(standin, http).send_template(ANI, "pengingat_iuran", body_params=["Rp16.800"])
    [sent] = standin.sent
    assert sent["type"] == "template"
    assert sent["template"] == {
        "name": "pengingat_iuran",
        "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Rp16.800"}]}],
    }


async def test_outside_24_hours_needs_a_template(
    standin: CloudApiStandIn, http: aiohttp.ClientSession
) -> None:
    standin.fail(ANI, 131047)
    with pytest.raises(ReEngagementRequired) as caught:
        await _api(standin, http).send_text(ANI, "Halo")
    assert caught.value.code == 131047
    assert standin.sent == []


async def test_rate_limited(standin: CloudApiStandIn, http: aiohttp.ClientSession) -> None:
    standin.fail(ANI, 130429, retry_after=2.5)
    with pytest.raises(RateLimited) as caught:
        await _api(standin, http).send_text(ANI, "Halo")
    assert caught.value.code == 130429 and caught.value.retry_after == 2.5
    standin.fail(ANI, 131056)  # no Retry-After: WhatsApp's pacing to one person
    with pytest.raises(RateLimited) as caught:
        await _api(standin, http).send_text(ANI, "Halo")
    assert caught.value.retry_after == 6.0


async def test_undeliverable(standin: CloudApiStandIn, http: aiohttp.ClientSession) -> None:
    standin.fail(ANI, 131026)
    with pytest.raises(Undeliverable):
        await _api(standin, http).send_text(ANI, "Halo")


async def test_token_expired(standin: CloudApiStandIn, http: aiohttp.ClientSession) -> None:
    with pytest.raises(TokenExpired) as caught:
        await _api(standin, http, token="old-token").send_text(ANI, "Halo")
    assert caught.value.http_status == 401
    standin.fail(ANI, 190)
    with pytest.raises(TokenExpired):
        await _api(standin, http).send_text(ANI, "Halo")


def test_error_mapping_of_status_reports() -> None:
    assert isinstance(error_for(131047, ""), ReEngagementRequired)
    assert isinstance(error_for(131000, "Recipient user has blocked the business"), Undeliverable)
    assert isinstance(error_for(100, "Invalid parameter"), CloudApiError)
    assert type(error_for(131000, "Something went wrong")) is CloudApiError


async def test_fetch_media(standin: CloudApiStandIn, http: aiohttp.ClientSession) -> None:
    photo = b"\xff\xd8\xff" + bytes(range(256)) * 100
    standin.add_media("987654321", photo, "image/jpeg")
    media = await _api(standin, http).fetch_media("987654321")
    assert media.content == photo and media.mime_type == "image/jpeg"
    with pytest.raises(MediaTooLarge):
        await _api(standin, http).fetch_media("987654321", max_bytes=1000)
    with pytest.raises(CloudApiError):
        await _api(standin, http).fetch_media("555")  # unknown
    with pytest.raises(CloudApiError, match="malformed"):
        await _api(standin, http).fetch_media("../messages")
    assert standin.state.media_fetches == 1  # the size was known before downloading


async def test_fetch_media_caps_what_it_downloads(
    standin: CloudApiStandIn, http: aiohttp.ClientSession
) -> None:
    standin.add_media("77", b"x" * 5000, reported_size=None)  # the size is not told
    with pytest.raises(MediaTooLarge):
        await _api(standin, http).fetch_media("77", max_bytes=1000)
    assert (await _api(standin, http).fetch_media("77")).content == b"x" * 5000


async def test_fetch_media_needs_the_token(
    standin: CloudApiStandIn, http: aiohttp.ClientSession
) -> None:
    standin.add_media("42", b"data")
    with pytest.raises(TokenExpired):
        await _api(standin, http, token="wrong").fetch_media("42")
    assert standin.state.media_fetches == 0
