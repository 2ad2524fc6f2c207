"""`doppel quiz`: a blind "which reply is really mine?" game in the browser, and its automatic player."""
