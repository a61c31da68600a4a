"""`{% takes_of synthesis as takes %}`: the takes shown side by side."""

from django import template

from synthesis.portal.takes import takes_of as _takes_of

register = template.Library()


@register.simple_tag
def takes_of(synthesis):
    return _takes_of(synthesis)
