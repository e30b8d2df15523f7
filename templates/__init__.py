"""Jinja2 templates of the plugin, installed as the package `generator.templates`."""
