"""Sources: bringing a newsroom's archive in from where it lives (HTML pages, RSS/Atom feeds,
sitemaps, the WordPress REST API), fetched politely and kept in sync with the index.

    extract.py    HTML → `Article` (main text, title, date, author, canonical URL) with trafilatura
    fetcher.py    the one polite HTTP fetcher: robots.txt, per-host limits, retries, conditional requests
    feeds.py      RSS and Atom (feedparser) → items, with full text where the feed carries it
    sitemaps.py   sitemaps, sitemap indexes and Google News sitemaps → page URLs with their dates
    wordpress.py  the WordPress REST API's posts, paged, by modification date
    sync.py       the incremental sync: what changed is fetched and written through the archive;
                  its state (ETags, Last-Modified, item → article) lives in the archive
"""
