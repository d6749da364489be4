"""Case reports: court-ready HTML and PDF/A-3b, generated from the database and the custody ledger.

``workflow`` makes, authorises and issues them; ``verify`` checks a report file against the
ledger; ``assemble`` and ``deviations`` say what a report states; ``render`` lays it out.
"""
