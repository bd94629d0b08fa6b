"""edgecap offline scene dataset generator.

The modules import each other by plain name (``import grammar``) so that
``tools/datagen/generate_scenes.py`` runs as a script; importing the package
(``from tools.datagen import grammar``) puts this folder on ``sys.path`` first.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
