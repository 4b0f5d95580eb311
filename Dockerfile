# One image for every service of the suite; the command says which one a container runs:
#   docker run communs run identity       one service (docker-compose.yml: one container each)
#   docker run communs run chorus-sandbox  the local Chorus Pro, for trials
#   docker run communs run prefecture-sandbox  the local prefecture (@ctes, Hélios), for trials
#   docker run communs run operator-sandbox  the local SMS and voice operator (Sinch's API), for trials
#   docker run communs migrate identity   its database, once, before it starts
#   docker run -p 8000:8000 communs run   the whole suite in one process

# A patch-level tag, so that a rebuild gives the same interpreter; 3.11 is the only Python the
# project supports, bookworm the Debian the tests run on.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# setuptools stays in the runtime environment: nameko's CLI imports pkg_resources (gone in 81).
RUN python -m venv /opt/communs \
 && /opt/communs/bin/pip install "pip<27" "setuptools<81" wheel
WORKDIR /src
# The dependencies get a layer of their own, from the pinned set, so that a change of code
# alone rebuilds only the last layer.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > requirements.txt \
 && /opt/communs/bin/pip install -c constraints.txt -r requirements.txt
COPY README.md ./
COPY contracts contracts
COPY servicekit servicekit
COPY gateway gateway
COPY services services
COPY chorus_sandbox chorus_sandbox
COPY prefecture_sandbox prefecture_sandbox
COPY operator_sandbox operator_sandbox
# Importing every service from the installed package (-P: not from the sources here) fails
# the build rather than a container when a module or a data file is missing from it.
RUN /opt/communs/bin/pip install --no-deps --no-build-isolation . \
 && /opt/communs/bin/python -P -W ignore -c \
      "from servicekit.cli import RUNNABLE, service_class; [service_class(n) for n in RUNNABLE]; import chorus_sandbox.app, prefecture_sandbox.app, operator_sandbox.app"

FROM ${PYTHON_IMAGE}
# A fixed uid, so that the files a container left in its volume stay its own after a rebuild.
RUN groupadd --system --gid 10001 communs \
 && useradd --system --uid 10001 --gid communs --no-create-home \
      --home-dir /var/lib/communs --shell /usr/sbin/nologin communs \
 && install --directory --owner communs --group communs --mode 0750 /var/lib/communs
# Owned by root: the code is read-only to the user that runs it.
COPY --from=build /opt/communs /opt/communs
# The gateway must listen beyond the container's loopback to be reachable at all; a new named
# volume mounted on the data dir takes its owner from this image's directory.
ENV PATH=/opt/communs/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    COMMUNS_DATA_DIR=/var/lib/communs \
    COMMUNS_LOG_FORMAT=json \
    COMMUNS_HTTP_ADDRESS=0.0.0.0:8000
# Numeric, so that a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/communs
# Exec form: communs is the process the container's stop signal reaches, and nameko stops its
# workers gracefully on SIGTERM.
ENTRYPOINT ["communs"]
CMD ["run"]
