"""A place's photos and its equipment's: upload (multipart, with its CSRF token), see them,
remove them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Response
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.photos import PHOTOS
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.photo_service import PhotoService
from resources.service import CatalogueService

# The largest photo a setting may allow (kernel.settings), and room for the form around it.
MAX_UPLOAD_BODY = 11 * 1024 * 1024
MESSAGES = {
    "photo_too_large": FieldError(N_("This photo is too large, or has too many pixels.")),
    "photo_not_an_image": FieldError(N_("Send a photo in JPEG, PNG or WebP.")),
    "photo_alt_required": FieldError(
        N_("Describe the photo for people who cannot see it (300 characters at most).")
    ),
    "photo_missing": FieldError(N_("Choose a photo to send.")),
}


@dataclass
class RemoveForm:
    """Which photo to remove: the place's (empty) or a resource's."""

    resource_id: str = ""


class PhotoPages(Controller):
    """The photos of a place I manage."""

    path = "/manage/places/{place_id:int}/photos"
    dependencies = {**CATALOGUE, **PHOTOS}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        photos: PhotoService,
        place_id: int,
        errors: Errors,
        status_code: int = 200,
    ) -> Template:
        place = await catalogue.place_detail(place_id, include_inactive=True)
        place_photo, resource_photos = await photos.of_place(place_id)
        return place_page(
            request,
            "manage/photos.html",
            place,
            "/photos",
            status_code=status_code,
            place_photo=place_photo,
            resource_photos=resource_photos,
            max_mb=round(request.app.state.settings.photo_max_bytes / (1024 * 1024), 1),
            errors=errors,
        )

    @get("/", opt=PLACE_MANAGER)
    async def photos_page(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        photos: NamedDependency[PhotoService],
        place_id: FromPath[int],
    ) -> Template:
        """The photo of the place and of each piece of equipment, and forms to change them."""
        await catalogue.managed_place(actor, place_id)
        return await self._page(request, catalogue, photos, place_id, {})

    @post("/", opt=PLACE_MANAGER, request_max_body_size=MAX_UPLOAD_BODY)
    async def upload(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        photos: NamedDependency[PhotoService],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[Any]:
        """Replace the photo of the place or of one piece of equipment, or say what is wrong."""
        await catalogue.managed_place(actor, place_id)
        raw_target = str(data.get("resource_id") or "")
        resource_id = int(raw_target) if raw_target.isdigit() else None
        target = str(resource_id) if resource_id is not None else "place"
        upload = data.get("photo")
        errors: Errors = {}
        if not isinstance(upload, UploadFile):
            errors[f"photo-{target}"] = MESSAGES["photo_missing"]
        else:
            content = await upload.read()
            if not content:
                errors[f"photo-{target}"] = MESSAGES["photo_missing"]
            else:
                try:
                    async with db_session.begin_nested():
                        await photos.upload(
                            actor,
                            place_id,
                            resource_id,
                            content,
                            str(data.get("alt") or ""),
                            request.app.state.settings.photo_max_bytes,
                        )
                except InvalidInputError as exc:
                    field = "alt" if exc.code == "photo_alt_required" else "photo"
                    errors[f"{field}-{target}"] = MESSAGES.get(
                        exc.code, FieldError(N_("This value is not valid."))
                    )
        if not errors:
            return see_other(f"/manage/places/{place_id}/photos", notice="photo_saved")
        return await self._page(request, catalogue, photos, place_id, errors, status_code=422)

    @post("/remove", opt=PLACE_MANAGER)
    async def remove(
        self,
        actor: NamedDependency[Actor],
        photos: NamedDependency[PhotoService],
        place_id: FromPath[int],
        data: URLEncodedBody[RemoveForm],
    ) -> Response[Any]:
        """Remove the photo of the place or of one piece of equipment (its files follow)."""
        resource_id = int(data.resource_id) if data.resource_id.isdigit() else None
        await photos.remove(actor, place_id, resource_id)
        return see_other(f"/manage/places/{place_id}/photos", notice="photo_removed")
