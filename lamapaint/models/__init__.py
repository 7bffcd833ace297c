"""What every model family needs (STYLE.md, "When a second model family arrives").

LaMa (:mod:`lamapaint.inpaint`) and Segment Anything (:mod:`lamapaint.select`) sit side by side
above this package and never import each other: the errors (:mod:`.errors`), the restricted
checkpoint reader (:mod:`.safe_pickle`), downloads (:mod:`.download`), the catalogue of published
files (:mod:`.catalogue`), which family a file belongs to (:mod:`.families`) and the installed-model
store's file format (:mod:`.store`) live here.
"""
