"""A template tag that sleeps: makes rendering slow enough to kill a worker in the middle of it."""

import time

from django import template

register = template.Library()


@register.simple_tag
def slow(seconds):
    time.sleep(float(seconds))
    return ""
