import sys

from support import GENERATED

# Runtime modules work on the messages of the generated image API.
if str(GENERATED) not in sys.path:
    sys.path.insert(0, str(GENERATED))
