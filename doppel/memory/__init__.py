"""The twin's memory: the owner's own past messages (redacted), retrieved at reply time.

index.py builds the table (one row per owner turn, with the message it answered, its chat and time) from the
segment stage's turns; store.py retrieves from it (BM25 as bm25s scores it, built column-wise; scoped to one chat
unless `memory.scope: all`, only messages before a given time); block.py renders what was retrieved as one prompt
block within a budget; recall.py is reply time (chat, serve, bot); rows.py gives build's rows the block they would
have had.
"""
