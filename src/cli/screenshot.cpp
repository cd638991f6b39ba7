#include "cli/screenshot.h"

#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace kestrel::cli {

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

// libpng reports errors by longjmp to the setjmp in the caller; the message goes
// here first so the caller can say what went wrong.
void on_png_error(png_structp png, png_const_charp msg) {
  auto* where = static_cast<std::string*>(png_get_error_ptr(png));
  if (where) *where = msg;
  png_longjmp(png, 1);
}
void on_png_warning(png_structp, png_const_charp) {}

}  // namespace

bool write_png(const std::string& path, const machine::vga::Image& img, std::string& error) {
  if (!img.width || !img.height || img.rgb.size() != size_t{img.width} * img.height * 3) {
    error = fmt::format("--screenshot: no picture to write to '{}'", path);
    return false;
  }
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) {
    error = fmt::format("--screenshot: cannot create '{}': {}", path, std::strerror(errno));
    return false;
  }
  std::string png_error;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &png_error, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    error = "--screenshot: libpng could not start";
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    error = fmt::format("--screenshot: writing '{}': {}", path, png_error);
    return false;
  }
  png_init_io(png, f.get());
  png_set_IHDR(png, info, img.width, img.height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (unsigned y = 0; y < img.height; ++y)
    png_write_row(png, const_cast<png_bytep>(&img.rgb[size_t{y} * img.width * 3]));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fflush(f.get()) != 0) {
    error = fmt::format("--screenshot: writing '{}': {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

bool read_png(const std::string& path, machine::vga::Image& img, std::string& error) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return false;
  }
  std::string png_error;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &png_error, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, nullptr);
    error = "libpng could not start";
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    error = fmt::format("reading '{}': {}", path, png_error);
    return false;
  }
  png_init_io(png, f.get());
  png_read_info(png, info);
  if (png_get_color_type(png, info) != PNG_COLOR_TYPE_RGB || png_get_bit_depth(png, info) != 8) {
    png_destroy_read_struct(&png, &info, nullptr);
    error = fmt::format("'{}' is not an 8-bit RGB PNG", path);
    return false;
  }
  img.width = png_get_image_width(png, info);
  img.height = png_get_image_height(png, info);
  img.rgb.assign(size_t{img.width} * img.height * 3, 0);
  for (unsigned y = 0; y < img.height; ++y) png_read_row(png, &img.rgb[size_t{y} * img.width * 3], nullptr);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace kestrel::cli
