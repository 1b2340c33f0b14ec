from django.http import HttpResponse
from django.urls import path


def points(request):
    return HttpResponse("your points")


urlpatterns = [path("host-points/", points, name="host-points")]
