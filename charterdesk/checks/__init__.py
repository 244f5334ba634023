"""Message checks in the desk: etiquette on agents' public replies, contingencies on customers'
messages, and redaction before anything is stored (docs/message-checks.md).

The rules are the pure engine's (``charterdesk.engine.messages.MessageChecks``); this family
asks it at the right moments through the ticket lifecycle hooks (``hooks.py``) and keeps the
contingencies a ticket is under (``models.ContingencyActivation``).
"""
