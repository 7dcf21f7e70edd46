"""The WhatsApp bench phase in miniature: two people register through the real bot's webhook."""

from __future__ import annotations

from pathlib import Path

from bench.whatsapp import CloudStandIn, WebhookClient, WhatsAppBot, run_people, submitted


async def test_two_people_register_on_whatsapp_through_the_bench(tmp_path: Path) -> None:
    standin = CloudStandIn(latency=0.0)
    await standin.start()
    bot = WhatsAppBot(standin, tmp_path, {"JAGA_FLOOD_BURST": "1000", "JAGA_FLOOD_RATE": "1000"})
    client = None
    try:
        await bot.start()
        client = WebhookClient(bot.port)
        phase = await run_people(standin, bot, client, "tiny", 2, 0, None)
    finally:
        if client is not None:
            client.close()
        if bot.proc is not None:
            await bot.stop()
        await standin.stop()
    t = phase.tally
    assert (t.finished, t.lost, t.duplicated, t.out_of_order, t.errors) == (2, 0, 0, 0, [])
    # Every act answered, each with a latency measured at the stand-in.
    assert t.answered == t.actions > 40
    assert len(t.latencies) == t.answered - 3 * 2  # a burst of four counts one latency
    assert all(latency > 0 for latency in t.latencies)
    # The answers went to the people's own wa_ids, and the bot stored both registrations.
    recipients = {to for to, _ in standin.received}
    assert recipients == {"6281200000000", "6281200000001"}
    assert submitted(bot.database) == 2
