"""What every model family needs (STYLE.md, "When a second model family arrives").

LaMa (:mod:`lamapaint.inpaint`) and Segment Anything (:mod:`lamapaint.select`) sit side by side
above this package and never import each other: names and errors (:mod:`.types`, :mod:`.errors`,
torch-free), devices and precisions, the restricted checkpoint reader (:mod:`.safe_pickle`),
downloads (:mod:`.download`, :mod:`.install`), the catalogue of published files (:mod:`.catalogue`),
which family a file belongs to (:mod:`.families`) and the installed-model store (:mod:`.store`).
"""
