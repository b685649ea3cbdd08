# The puljemonitor worker (and CLI). Build: docker build -t puljemonitor .
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY puljemonitor ./puljemonitor
COPY schemas ./schemas
COPY streams ./streams
COPY projections ./projections
RUN pip install --no-cache-dir . && mkdir -p /state
ENV PULJEMONITOR_STATE_DIR=/state
ENTRYPOINT ["puljemonitor"]
CMD ["worker"]
