# The Pachyderm worker image: Python 3.11, Java 17 (Spark), the project's wheel and its
# configuration archive from `make package`. Each Pachyderm pipeline of
# `kedro pachyderm pipelines` runs `fraud-detection --env pachyderm_worker --pipelines <stage>`
# in /project, where conf/ is unpacked.
#   make image IMAGE=registry.example.com/fraud-detection-worker:0.1.0
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KEDRO_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=1 \
    PYSPARK_PYTHON=python3

WORKDIR /project
COPY dist/*.whl /tmp/wheel/
RUN pip install --no-cache-dir /tmp/wheel/*.whl \
 && rm -rf /tmp/wheel
COPY dist/conf-fraud_detection.tar.gz /tmp/conf.tar.gz
RUN tar -xzf /tmp/conf.tar.gz -C /project && rm /tmp/conf.tar.gz \
 && test -f /project/conf/pachyderm_worker/catalog.yml \
 && mkdir -p /project/conf/local /project/logs \
 && java -version && fraud-detection --help > /dev/null

# pachd runs transform.cmd from each pipeline spec; this default only documents it.
CMD ["fraud-detection", "--env", "pachyderm_worker", "--pipelines", "split"]
