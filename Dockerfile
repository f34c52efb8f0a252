# syntax=docker/dockerfile:1
# Build stage: a virtual environment with the service and its dependencies.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY service ./service
RUN /opt/venv/bin/pip install .

# Run stage: the venv, the demo rules, a non-root user.
FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 loyalty
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY rules ./rules
RUN mkdir -p /app/.loyalty && chown -R loyalty:loyalty /app
USER loyalty
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LOYALTY_HOST=0.0.0.0 \
    LOYALTY_PORT=8000 \
    LOYALTY_RULES_DIR=/app/rules
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/ready').status != 200)"
# Set DATABASE_URL to use an existing PostgreSQL; unset, the embedded one runs in /app/.loyalty.
ENTRYPOINT ["loyalty"]
CMD ["serve"]
