/* Crop-aware, DCT-scaled JPEG decoding with the system libjpeg-turbo (2.x API).
 * libjpeg reports fatal errors through error_exit, which would exit() the process, and
 * prints warnings to stderr, which a TUI owns: both are redirected here. Errors longjmp back
 * to the entry point with the message stored for the caller. */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

struct ablate_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
};

static void ablate_error_exit(j_common_ptr c) {
    struct ablate_err *e = (struct ablate_err *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jump, 1);
}

/* Warnings (msg_level -1) are ignored like Pillow does ("Corrupt JPEG data: N extraneous
 * bytes" is common in ImageNet), except a premature end of data, which Pillow reports as a
 * truncated image. Trace messages (level >= 0) are dropped. */
static void ablate_emit_message(j_common_ptr c, int level) {
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) ablate_error_exit(c);
}

static void ablate_output_message(j_common_ptr c) { (void)c; }

/* A failure of ours (message already in e->msg). */
static void ablate_fail(struct ablate_err *e) { longjmp(e->jump, 1); }

/* info (out): [0] width, [1] height, [2] components of the file; after a decode also
 * [3] first column, [4] columns, [5] rows of the decoded region (scaled pixels).
 *
 * scale_num == 0 reads the header only. Otherwise decodes at scale_num/8 the rows y0..y1 and
 * at least the columns x0..x1 (scaled coordinates; libjpeg widens the columns to its iMCU
 * boundary on the left) into `out` (rows packed, 3 bytes per pixel, `cap` bytes).
 * Returns 0, or -1 with a NUL-terminated message in `err`. */
int ablate_jpeg_decode(const unsigned char *data, unsigned long len, int scale_num, int x0,
                       int y0, int x1, int y1, unsigned char *out, size_t cap, int info[6],
                       char *err, size_t errlen) {
    struct jpeg_decompress_struct cinfo;
    struct ablate_err jerr;
    /* volatile: read after longjmp. */
    volatile int created = 0;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = ablate_error_exit;
    jerr.pub.emit_message = ablate_emit_message;
    jerr.pub.output_message = ablate_output_message;
    jerr.msg[0] = 0;
    if (setjmp(jerr.jump)) {
        if (errlen > 0) {
            strncpy(err, jerr.msg, errlen - 1);
            err[errlen - 1] = 0;
        }
        if (created) jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    created = 1;
    jpeg_mem_src(&cinfo, data, len);
    jpeg_read_header(&cinfo, TRUE);
    info[0] = (int)cinfo.image_width;
    info[1] = (int)cinfo.image_height;
    info[2] = cinfo.num_components;
    if (scale_num == 0) {
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    cinfo.scale_num = (unsigned int)scale_num;
    cinfo.scale_denom = 8;
    cinfo.out_color_space = JCS_RGB; /* grayscale -> RGB as well */
    cinfo.dct_method = JDCT_ISLOW;   /* Pillow's default: exact pixels at scale 8/8 */
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    if (x0 < 0 || y0 < 0 || x1 > w || y1 > h || x0 >= x1 || y0 >= y1) {
        snprintf(jerr.msg, sizeof jerr.msg, "region %d..%d x %d..%d outside the %dx%d image",
                 x0, x1, y0, y1, w, h);
        ablate_fail(&jerr);
    }
    JDIMENSION xoff = (JDIMENSION)x0, cw = (JDIMENSION)(x1 - x0);
    if (cw < (JDIMENSION)w) jpeg_crop_scanline(&cinfo, &xoff, &cw);
    size_t row = (size_t)cw * 3;
    if ((size_t)(y1 - y0) * row > cap) {
        snprintf(jerr.msg, sizeof jerr.msg, "output buffer too small");
        ablate_fail(&jerr);
    }
    if (y0 > 0) jpeg_skip_scanlines(&cinfo, (JDIMENSION)y0);
    while ((int)cinfo.output_scanline < y1) {
        JSAMPROW r = out + (size_t)((int)cinfo.output_scanline - y0) * row;
        jpeg_read_scanlines(&cinfo, &r, 1);
    }
    info[3] = (int)xoff;
    info[4] = (int)cw;
    info[5] = y1 - y0;
    /* The rows below the region are never decoded. */
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
