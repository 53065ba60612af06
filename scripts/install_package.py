"""Install a built pipeline package and load it by name in a fresh process.

    python scripts/install_package.py SDIST PACKAGE_NAME

The check runs in an empty temporary directory, so the pipeline can't lean on
project files (such as the encoder under assets/): what loads is what ships.
"""

import subprocess
import sys
import tempfile

CHECK = """
import sys
import spacy
name = sys.argv[1]
nlp = spacy.load(name)
doc = nlp("Angela Merkel visited the Siemens plant in Erlangen.")
print("loaded", name, "pipeline", nlp.pipe_names)
print("entities", [(e.text, e.label_) for e in doc.ents])
for key, group in doc.spans.items():
    print(f"spans[{key!r}]", [(s.text, s.label_) for s in group])
"""


def main(sdist: str, name: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", sdist], check=True)
    with tempfile.TemporaryDirectory() as empty:
        subprocess.run([sys.executable, "-c", CHECK, name], check=True, cwd=empty)


if __name__ == "__main__":
    main(*sys.argv[1:])
