import sys

from support import GENERATED

# The parser and server fuzz tests use the messages of the generated image API.
if str(GENERATED) not in sys.path:
    sys.path.insert(0, str(GENERATED))
