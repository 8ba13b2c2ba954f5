FROM python:3.11-slim
WORKDIR /app
# Pango for WeasyPrint (documents as PDF) and Noto CJK, the free stand-ins of the official faces.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    libharfbuzz-subset0 fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HAZARD_DATA_DIR=/data
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
# Editable install: the migrations are read from /app/migrations next to the source.
RUN pip install --no-cache-dir -e . && useradd --system --home /app hazard && mkdir -p /data && chown hazard /data
USER hazard
EXPOSE 8000
CMD ["hazard-registry", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
