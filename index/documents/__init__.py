"""Documents: the records data flows through, an article and its sentences with character offsets.
Imports only `index.common`.

    articles.py   parse an article (title, url, date, body) and give it its id
    sentences.py  split a body into sentences with character offsets
"""
