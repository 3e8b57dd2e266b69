"""Newsflow: Kafka-native ingestion for news articles."""

import logging

from service.errors import NewsflowError, Rejection
from service.models import Article, RawArticle, Rejected

__version__ = "0.1.0"

__all__ = ["Article", "NewsflowError", "RawArticle", "Rejected", "Rejection", "__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
