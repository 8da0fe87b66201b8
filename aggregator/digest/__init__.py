"""Digest: a view of the articles (a day, a topic, a source, a search), built once from the
database and handed to every renderer: the web page first, feeds and e-mail next."""
