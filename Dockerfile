FROM python:3.11-slim
WORKDIR /app
# Pango for WeasyPrint (documents as PDF) and Noto CJK, the free stand-ins of the official faces.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    libharfbuzz-subset0 fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HAZARD_DATA_DIR=/data HAZARD_KEYS_DIR=/keys
COPY requirements.lock pyproject.toml README.md ./
COPY src ./src
# The locked versions first (the same on every build), then the project itself as a normal, non-editable
# install: the migrations travel inside the package.
RUN pip install --no-cache-dir -r requirements.lock && pip install --no-cache-dir --no-deps . \
    && useradd --system --home /app hazard && mkdir -p /data /keys && chown hazard /data /keys
USER hazard
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["hazard-registry", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
