"""Cross-case links (issue 13): what an exhibit shares with other cases, how telling it is, who may see it.

- ``index``: the ``links`` stage records each exhibit's linkable values once (``link_values``).
- ``correlate``: links of one case to every other case, each with its evidence and a weight.
- ``access``: need to know — the other side of a link is shown to members of that case, or after an
  approved request; requests, decisions and every reveal are custody events in both cases.
- ``graph``: the links as a networkx graph (GraphML/GEXF export, the portal's map, shortest paths).
"""
