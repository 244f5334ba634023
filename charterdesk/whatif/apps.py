from django.apps import AppConfig


class WhatifConfig(AppConfig):
    name = "charterdesk.whatif"
    label = "whatif"
    verbose_name = "What-if"
