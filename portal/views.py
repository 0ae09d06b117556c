"""Home: every signed-in user lands on the page of their role."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import roles


@login_required
def home(request):
    return render(request, "portal/home.html", {"role": roles.primary_role(request.user)})
