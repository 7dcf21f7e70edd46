"""WhatsApp (Cloud API): the webhook, the sending client, prompt rendering and a test stand-in."""
