FROM python:3.11-slim

# The code is installed by root and stays read-only to the process; the process runs as an
# unprivileged user that owns only /data (instance files and uploads).
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DISPATCH_INSTANCE_PATH=/data/instance \
    DISPATCH_UPLOAD_DIR=/data/uploads \
    DISPATCH_METRICS_PORT=9100
RUN groupadd --system --gid 10001 dispatch \
 && useradd --system --uid 10001 --gid dispatch --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin dispatch
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir '.[postgres]' \
 && mkdir -p /data/instance /data/uploads \
 && chown -R 10001:10001 /data
USER 10001:10001
# 8000: the API (publish this one). 9100: /metrics for Prometheus, on the internal network only.
EXPOSE 8000 9100
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
