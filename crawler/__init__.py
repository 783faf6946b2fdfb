"""The Scrapy project: rule loading, the generic rule spider, middlewares, pipelines, stores, commands."""
