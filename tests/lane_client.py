"""A Django test client whose requests first meet the public query's WSGI lane, as they do in `beian serve`
(web.wsgi: lookup.lane in front of Django): what the lane answers comes back as a response with
``served_by_lane = True``; what it hands on goes through Django's test handler as usual."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler

from beian.lookup.lane import PublicQueryLane

HANDED_ON = object()


class LaneClientHandler(ClientHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lane = PublicQueryLane(lambda environ, start_response: HANDED_ON)

    def __call__(self, environ):
        answered: dict = {}

        def start_response(status, headers, exc_info=None):
            answered.update(status=int(status.split()[0]), headers=headers)

        result = self.lane(environ, start_response)
        if result is HANDED_ON:
            response = super().__call__(environ)
            response.served_by_lane = False
            return response
        response = HttpResponse(b"".join(result), status=answered["status"])
        del response["Content-Type"]
        for name, value in answered["headers"]:
            response[name] = value
        response.wsgi_request = WSGIRequest(environ)
        response.served_by_lane = True
        return response


class LaneClient(Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.handler = LaneClientHandler(kwargs.get("enforce_csrf_checks", False))
